"""Vigil: a compliance and governance rules engine for US medical practices."""

__version__ = "0.1.0"
