"""Errors of the tasks domain, placed in the VigilError tree (engine/errors.py).

    InputError
    ├── EvidenceEmpty           an attachment of no bytes (evidence of nothing)
    ├── EvidenceTooLarge        an attachment over the size limit
    └── EvidenceTypeRefused     content sniffed as a type that is never kept (executables)
    RulesetError
    └── PolicyError             an SOP template or a policy file (roles, escalation) is wrong
    NotFoundError
    └── TaskNotFound            no such task, or not one the caller may see
    InvalidTransition
    └── TaskTransitionRefused   e.g. completing a closed task
"""

from __future__ import annotations

from engine.errors import InputError, InvalidTransition, NotFoundError, RulesetError


class EvidenceEmpty(InputError):
    code = "evidence.empty"


class EvidenceTooLarge(InputError):
    code = "evidence.too_large"


class EvidenceTypeRefused(InputError):
    code = "evidence.type_refused"


class PolicyError(RulesetError):
    code = "policy.invalid"


class TaskNotFound(NotFoundError):
    code = "not_found.task"


class TaskTransitionRefused(InvalidTransition):
    code = "conflict.task_transition"
