"""Connectors: outside formats that become contract records (docs/records.md, "Connectors").

- `fhir_auditevent` + `fhir_reader`: FHIR R4 AuditEvent (IHE BALP) resources -> `access_event`,
  registered as the import format `fhir` (a Bundle, one resource, or NDJSON, one per line).
- `leie` + `leie_screen`: the OIG LEIE exclusion file, screened against the organization's
  workforce -> one `screening` per person (`vigil import FILE --format leie`).
- `hr_roster`: an HR system's roster CSV -> `person` and `employment_episode`, its dates read as days
  at each establishment, in the zone the store has for it (`vigil import FILE --format roster
  [--map FILE]`).

All feed the one import loop (`engine.records.ingest.Ingest`): the same validation, the same
all-or-nothing rule and the same located problems as a JSON, NDJSON or CSV import. This package
imports nothing at load time, so the importers registry can import its readers.
"""
