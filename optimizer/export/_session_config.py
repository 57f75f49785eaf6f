"""The FIX session settings file: QuickFIX's ``Key=Value`` format, one ``[SESSION]``, checked line by line.

Parsed here rather than by ``quickfix.SessionSettings`` so a bad file gets an error naming its line
and key before QuickFIX is even imported: required keys, numbers (ports 1–65535, positive seconds),
``Y``/``N`` switches, ``HH:MM:SS`` times, printable comp ids and existing files are checked.

Session files (QuickFIX's FileStorePath: sequence numbers and sent messages; FileLogPath: every
message in and out) go only where the file says, as absolute paths (``~`` allowed); a relative path
is refused, so nothing is written into the folder the file happens to sit in (a repository). Left
out, they default to ``<state dir>/fix/<BeginString>-<SenderCompID>-<TargetCompID>/store`` and
``…/log`` (state dir: ``$TRIMTAB_STATE_DIR``, else ``$XDG_STATE_HOME/trimtab``, else
``~/.local/state/trimtab``), kept between runs so sequence numbers carry on.
"""

from __future__ import annotations

import re
from pathlib import Path

from .. import ExportError
from ._fix_dictionary import fix44_dictionary_path
from ._journal import state_dir

_DEFAULTS = {"ConnectionType": "initiator", "BeginString": "FIX.4.4", "HeartBtInt": "30",
             "StartTime": "00:00:00", "EndTime": "00:00:00", "ReconnectInterval": "5", "UseDataDictionary": "Y"}
_REQUIRED = ("SenderCompID", "TargetCompID", "SocketConnectHost", "SocketConnectPort")
_PATHS = ("DataDictionary", "FileStorePath", "FileLogPath")
_SESSION_FILES = ("FileStorePath", "FileLogPath")
_SECONDS = ("HeartBtInt", "ReconnectInterval", "LogonTimeout", "LogoutTimeout", "MaxLatency")
_SWITCHES = ("ResetOnLogon", "ResetOnLogout", "ResetOnDisconnect", "RefreshOnLogon", "PersistMessages",
             "UseDataDictionary", "ValidateFieldsOutOfOrder", "ValidateFieldsHaveValues", "ValidateUserDefinedFields",
             "CheckLatency", "CheckCompID", "SendRedundantResendRequests", "MillisecondsInTimeStamp", "SocketNodelay",
             "UseLocalTime", "SendResetSeqNumFlag")
_TIMES = ("StartTime", "EndTime")
_COMP_IDS = ("SenderCompID", "TargetCompID")
_CANONICAL = {k.lower(): k for k in (*_DEFAULTS, *_REQUIRED, *_PATHS, *_SECONDS, *_SWITCHES, *_TIMES)}
_PORT = re.compile(r"Socket(Connect|ConnectSource)Port\d*", re.IGNORECASE)
_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d:[0-5]\d")


class FixSessionError(ExportError):
    """The FIX session could not be configured or logged on; nothing was sent."""


def read_session_config(path: str | Path) -> dict[str, str]:
    """The settings of the one session in ``path``, defaults filled in and paths made absolute.

    FileStorePath / FileLogPath default to the state directory (see the module docstring);
    DataDictionary, when relative, is taken from the settings file's folder.

    Raises
    ------
    FixSessionError
        Naming the file, line and key of a malformed, missing, relative or unsupported setting.
    """
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise FixSessionError(f"cannot read FIX session settings {path}: {exc}") from None
    sections: list[tuple[str, dict[str, tuple[str, int]]]] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]") and line[1:-1].strip().upper() in ("DEFAULT", "SESSION"):
            sections.append((line[1:-1].strip().upper(), {}))
        elif "=" in line and sections:
            key, value = (part.strip() for part in line.split("=", 1))
            sections[-1][1][_CANONICAL.get(key.lower(), key)] = (value, number)
        else:
            raise FixSessionError(f"{path}:{number}: expected [DEFAULT], [SESSION] or Key=Value, got {raw!r}")
    sessions = [keys for name, keys in sections if name == "SESSION"]
    if len(sessions) != 1:
        raise FixSessionError(f"{path}: needs exactly one [SESSION] section, found {len(sessions)}")
    located = {key: (value, 0) for key, value in _DEFAULTS.items()}
    for keys in [keys for name, keys in sections if name == "DEFAULT"] + sessions:
        located.update(keys)
    missing = [key for key in _REQUIRED if not located.get(key, ("", 0))[0]]
    if missing:
        raise FixSessionError(f"{path}: [SESSION] lacks {missing}; required: {list(_REQUIRED)}")
    for key, (value, number) in located.items():
        _check(path, number, key, value)
    config = {key: value for key, (value, _) in located.items()}
    config.setdefault("DataDictionary", str(fix44_dictionary_path()))
    config["DataDictionary"] = str((path.parent / Path(config["DataDictionary"]).expanduser()).resolve())
    if not Path(config["DataDictionary"]).is_file():
        raise FixSessionError(f"{_where(path, located, 'DataDictionary')}: DataDictionary: no such file "
                              f"{config['DataDictionary']}")
    default = state_dir() / "fix" / f"{config['BeginString']}-{config['SenderCompID']}-{config['TargetCompID']}"
    for key, leaf in zip(_SESSION_FILES, ("store", "log")):
        given = Path(config[key]).expanduser() if key in config else default / leaf
        if not given.is_absolute():
            raise FixSessionError(
                f"{_where(path, located, key)}: {key}={config[key]} is a relative path; session files go only where "
                f"the settings say: give an absolute path (~ allowed), or leave {key} out to use {default / leaf}")
        config[key] = str(given)
    return config


def _where(path: Path, located: dict[str, tuple[str, int]], key: str) -> str:
    number = located.get(key, ("", 0))[1]
    return f"{path}:{number}" if number else str(path)


def _check(path: Path, number: int, key: str, value: str) -> None:
    """Raise :class:`FixSessionError` naming ``path:number`` and ``key`` if ``value`` is not valid for it."""
    where = f"{path}:{number}" if number else str(path)
    problem = ""
    if not value:
        problem = "has no value"
    elif not all(" " <= ch <= "~" for ch in value):
        problem = "must be printable ASCII"
    elif key in ("BeginString", "ConnectionType"):
        wanted = "FIX.4.4" if key == "BeginString" else "initiator"
        if value != wanted:
            raise FixSessionError(f"{where}: {key}={value} is not supported; use {key}={wanted}")
    elif _PORT.fullmatch(key):
        if not (value.isdigit() and 1 <= int(value) <= 65535):
            problem = "must be a port number (1-65535)"
    elif key in _SECONDS:
        if not (value.isdigit() and int(value) > 0):
            problem = "must be a whole number of seconds > 0"
    elif key in _SWITCHES:
        if value not in ("Y", "N"):
            problem = "must be Y or N"
    elif key in _TIMES:
        if not _TIME.fullmatch(value):
            problem = "must be a time HH:MM:SS"
    elif key in _COMP_IDS:
        if value[0] in "=+-@" or " " in value:
            problem = "must not contain spaces nor start with =, +, - or @"
    if problem:
        raise FixSessionError(f"{where}: {key}={value!r} {problem}")
