"""Page objects: one small class per screen, so the journeys read as what a person does."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect


class LoginPage:
    def __init__(self, page: Any) -> None:
        self.page = page

    def sign_in(self, username: str, password: str | None = None) -> None:
        self.page.goto("/ui/login")
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(password or f"{username}-demo-pass")
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page.get_by_role("button", name="Sign out")).to_be_visible()


class DashboardPage:
    def __init__(self, page: Any) -> None:
        self.page = page

    def open(self) -> DashboardPage:
        self.page.goto("/ui/dashboard")
        expect(self.page.get_by_role("heading", name="Compliance dashboard")).to_be_visible()
        return self

    def heat_count(self, framework: str, severity: str) -> int:
        link = self.page.locator("#heat").get_by_label(re.compile(rf"^\d+ {severity} {framework} findings$"))
        return int(link.inner_text())

    def open_cell(self, framework: str, severity: str) -> None:
        self.page.locator("#heat").get_by_label(re.compile(rf"^\d+ {severity} {framework} findings$")).click()


class FindingsPage:
    def __init__(self, page: Any) -> None:
        self.page = page

    def rows(self) -> Any:
        return self.page.locator("#findings-table tbody tr")

    def open_first(self) -> str:
        link = self.rows().first.locator("td:nth-child(2) a")
        title = str(link.inner_text())
        link.click()
        return title


class FindingPage:
    def __init__(self, page: Any) -> None:
        self.page = page

    def state(self) -> str:
        return str(self.page.locator("p.row .state").first.inner_text())

    def comment(self, text: str) -> None:
        self.page.get_by_label("Comment").fill(text)
        self.page.get_by_role("button", name="Add comment").click()
        expect(self.page.get_by_role("status")).to_have_text("Comment added.")

    def waive(self, *, reason: str, approver: str, until: str) -> None:
        self.page.get_by_label("Reason").fill(reason)
        self.page.get_by_label("Approved by").fill(approver)
        self.page.get_by_label("Until (end of the day, UTC)").fill(until)
        self.page.get_by_role("button", name="Waive").click()


class TaskPage:
    def __init__(self, page: Any) -> None:
        self.page = page

    def tick_step(self, n: int) -> None:
        self.page.get_by_role("button", name=f"Mark done: step {n}").click()
        expect(self.page.get_by_role("status")).to_have_text(f"Step {n} marked done.")

    def attach(self, path: str, note: str) -> None:
        self.page.get_by_label(re.compile("^Attach a file")).set_input_files(path)
        self.page.locator("#ev-note").fill(note)
        self.page.get_by_role("button", name="Upload evidence").click()

    def complete(self, note: str) -> None:
        self.page.get_by_label(re.compile("^What was done")).fill(note)
        self.page.get_by_role("button", name="Mark task complete").click()
