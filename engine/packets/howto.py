"""The packet's own how-to for an auditor without Vigil: data/VERIFY.txt.

It names only standard tools (bagit.py, openssl, unzip or python3, coreutils), so an auditor can
check a packet on any machine, and it is inside the signed bag, so the steps cannot be swapped for
weaker ones. Each step closes a gap the ones before leave: bagit.py checks the files the manifests
list, openssl that the manifests are the ones signed, the fingerprint whose key signed them; the
zip listing that nothing else rides along, for neither bagit.py nor openssl looks at a file no
manifest lists (a README-FIRST.txt or fetch.txt in the bag's folder, a file beside the bag or under
signature/); and data/verify-data.py (`verify_data`) that the audit trail excerpt links and hashes
and each record hashes to its content_hash, which the signature alone does not say (a packet built
from an altered database is signed as it is). The recipes are in the packet itself: the auditor has
no docs/audit.md. Tests run these commands as written (tests/unit/packets/test_packet_howto.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from engine.packets import verify_data

#: the payload file the standalone check of the audit trail and the records ships as, and its source
#: (the module itself: stdlib only, so it runs with any python3)
DATA_CHECK = "verify-data.py"
DATA_CHECK_SOURCE = Path(verify_data.__file__)


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

5. Check the audit-trail excerpt and the records' content hashes (Python 3.8 or later, nothing
   to install; the script is in the signed bag and its first lines say how it computes them):
     python3 {packet_id}/data/verify-data.py
   It prints OK, or each entry or record that does not match, and exits 1. What it computes,
   for any other tool:
   - canonical JSON: the UTF-8 JSON text with keys sorted and no spaces, as Python's
     json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False) writes it;
   - data/audit-trail.jsonl: line 1 is the anchor line; every other line is one entry, whose hash
     is the sha256 of the canonical JSON of its fields org_id, org_seq, at, actor, action,
     entity_type, entity_id, payload and prev_hash (at as written). The first entry's prev_hash is
     the anchor line's anchor, each next one's the hash of the entry before, org_seq counts up by
     one from first_org_seq, and the last hash is the anchor line's head. An entry marked
     "redacted" (patient identifiers pseudonymised, or its payload withheld) keeps its hash and
     links but cannot be rehashed: check its links only;
   - data/records.json: a record's content_hash is the sha256 of the canonical JSON of its data
     once the fields content_hash_form names for its type are rewritten: each instant (and each
     value of a map of instants) in UTC, written with Z and with microseconds only when it has
     some (2026-03-07T21:00:00-08:00 is 2026-03-08T05:00:00Z), and a whole number written as an
     integer (12.0 is 12). A record marked "redacted" cannot be rehashed.
   The head (the anchor line's "head") is also the practice's chain at the packet's end: the
   practice can show it is still in its database, which proves the excerpt was not cut from a
   rewritten chain.

With Vigil: vigil packet verify PACKET.zip --public-key practice.pub.pem
"""
