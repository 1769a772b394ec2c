"""The packet's own how-to for an auditor without Vigil: data/VERIFY.txt.

It names only standard tools (bagit.py, openssl, unzip or python3, coreutils), so an auditor can
check a packet on any machine, and it is inside the signed bag, so the steps cannot be swapped for
weaker ones. Each step closes a gap the ones before leave: bagit.py checks the files the manifests
list, openssl that the manifests are the ones signed, the fingerprint whose key signed them; and
the zip listing that nothing else rides along, for neither bagit.py nor openssl looks at a file no
manifest lists (a README-FIRST.txt or fetch.txt in the bag's folder, a file beside the bag or under
signature/). Tests run these commands as written (tests/unit/packets/test_packet_howto.py).
"""

from __future__ import annotations

from collections.abc import Sequence


def zip_listing(packet_id: str, *, signature_dir: str, signature_files: Sequence[str]) -> str:
    """The zip listing check of step 4, for `sh`: every name the zip holds, then every name the
    signed manifests and the layout give (the two tag manifests, the signature files); a whole
    packet has each name exactly twice, so any other count is printed."""
    signatures = [f"{signature_dir}/{name}" for name in signature_files]
    half = (len(signatures) + 1) // 2
    lines = [f"P={packet_id}; {{ unzip -Z1 PACKET.zip; sed \"s/^[0-9a-f]* *//; s|^|$P/|\" $P/manifest-sha256.txt",
             "$P/tagmanifest-sha256.txt; printf '%s\\n' $P/tagmanifest-sha256.txt $P/tagmanifest-sha512.txt",
             " ".join(signatures[:half]), " ".join(signatures[half:]) + "; }",
             "| sort | uniq -c | grep -v '^ *2 ' || echo OK"]
    return " \\\n         ".join(lines)


VERIFY_TEXT = """How to verify this packet without Vigil
======================================

Run these from the folder the zip was extracted into (unzip PACKET.zip -d p && cd p), where
PACKET.zip stands for the zip's own path (../PACKET.zip from there).

1. Check the bag (full validation recomputes every checksum; never use --fast):
     bagit.py --validate {packet_id}

2. Check the signature over the tag manifest (OpenSSL 3):
     openssl pkeyutl -verify -pubin -inkey signature/signer.pub.pem -rawin \\
         -in {packet_id}/tagmanifest-sha256.txt -sigfile signature/tagmanifest-sha256.txt.sig

3. Check that signature/signer.pub.pem is the practice's key: its fingerprint is the sha256 of
   the raw 32-byte public key and must equal the one the practice gave you through another
   channel (this packet was signed by {fingerprint}):
     openssl pkey -pubin -in signature/signer.pub.pem -outform DER | tail -c 32 | sha256sum

4. Check that the zip holds the files the signed manifests name and nothing else, each once.
   bagit.py and openssl never look at a file no manifest lists: a README-FIRST.txt or fetch.txt
   put in the bag's folder, a file beside the bag or under signature/ would pass steps 1 to 3.
   This prints OK, or each name that is extra or missing (count 1) or in the zip twice (3):
     {zip_listing}
   Without unzip, list the zip with python3 in its place:
     python3 -c "import sys, zipfile; print(*zipfile.ZipFile(sys.argv[1]).namelist(), sep='\\n')" PACKET.zip
   The bag follows the BagIt profile its bag-info.txt names (BagIt-Profile-Identifier), which
   forbids fetch.txt (Allow-Fetch.txt: false): a packet never holds one, and nothing a fetch.txt
   lists is part of it.

With Vigil: vigil packet verify PACKET.zip --public-key practice.pub.pem
"""
