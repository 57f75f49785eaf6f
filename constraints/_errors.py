"""Errors about job files and constraint specifications."""

from __future__ import annotations

from collections.abc import Sequence

from trimtab.models import TrimtabError


class SpecError(TrimtabError, ValueError):
    """A job file or constraint is invalid: unknown key, wrong type, bad range, unknown name.

    Parameters
    ----------
    message : str
        What is wrong, in plain words.
    file : str, optional
        The job file.
    line : int, optional
        1-based line in ``file`` where the offending key or value starts.
    path : str, optional
        Key path inside the file, e.g. ``constraints[1].group_weight.group``.
    choices : sequence of str, optional
        The valid choices, listed in the message.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        path: str | None = None,
        choices: Sequence[str] | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.path = path
        self.choices = tuple(choices) if choices is not None else None
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        elif self.line:
            where = f"line {self.line}: "
        path = f"{self.path}: " if self.path else ""
        text = f"{where}{path}{self.message}"
        if self.choices is not None:
            shown = ", ".join(self.choices[:40]) + (" …" if len(self.choices) > 40 else "")
            text += f" (valid choices: {shown})"
        return text

    def located(self, *, file: str | None, line: int | None, path: str | None) -> SpecError:
        """A copy of this error with file, line and key path filled in where missing."""
        return SpecError(
            self.message,
            file=self.file or file,
            line=self.line or line,
            path=self.path or path,
            choices=self.choices,
        )
