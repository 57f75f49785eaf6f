"""The FIX session settings file: QuickFIX's ``Key=Value`` format, one ``[SESSION]``, checked line by line.

Parsed here rather than by ``quickfix.SessionSettings`` so a bad file gets an error naming its line
before QuickFIX is even imported.
"""

from __future__ import annotations

from pathlib import Path

from .. import ExportError
from ._fix_dictionary import fix44_dictionary_path

_DEFAULTS = {"ConnectionType": "initiator", "BeginString": "FIX.4.4", "HeartBtInt": "30",
             "StartTime": "00:00:00", "EndTime": "00:00:00", "ReconnectInterval": "5", "UseDataDictionary": "Y"}
_REQUIRED = ("SenderCompID", "TargetCompID", "SocketConnectHost", "SocketConnectPort")
_PATHS = ("DataDictionary", "FileStorePath", "FileLogPath")
_CANONICAL = {k.lower(): k for k in (*_DEFAULTS, *_REQUIRED, *_PATHS)}


class FixSessionError(ExportError):
    """The FIX session could not be configured or logged on; nothing was sent."""


def read_session_config(path: str | Path) -> dict[str, str]:
    """The settings of the one session in ``path``, defaults filled in and paths made absolute.

    FileStorePath / FileLogPath stay absent when not given; :func:`send_messages` then uses a new
    temporary folder.

    Raises
    ------
    FixSessionError
        Naming the file (and line) of a malformed, missing or unsupported setting.
    """
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise FixSessionError(f"cannot read FIX session settings {path}: {exc}") from exc
    sections: list[tuple[str, dict[str, str]]] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]") and line[1:-1].strip().upper() in ("DEFAULT", "SESSION"):
            sections.append((line[1:-1].strip().upper(), {}))
        elif "=" in line and sections:
            key, value = (part.strip() for part in line.split("=", 1))
            sections[-1][1][_CANONICAL.get(key.lower(), key)] = value
        else:
            raise FixSessionError(f"{path}:{number}: expected [DEFAULT], [SESSION] or Key=Value, got {raw!r}")
    sessions = [keys for name, keys in sections if name == "SESSION"]
    if len(sessions) != 1:
        raise FixSessionError(f"{path}: needs exactly one [SESSION] section, found {len(sessions)}")
    config = dict(_DEFAULTS)
    for keys in [keys for name, keys in sections if name == "DEFAULT"] + sessions:
        config.update(keys)
    missing = [key for key in _REQUIRED if not config.get(key)]
    if missing:
        raise FixSessionError(f"{path}: [SESSION] lacks {missing}; required: {list(_REQUIRED)}")
    for key, wanted in (("BeginString", "FIX.4.4"), ("ConnectionType", "initiator")):
        if config[key] != wanted:
            raise FixSessionError(f"{path}: {key}={config[key]} is not supported; use {key}={wanted}")
    if not config["SocketConnectPort"].isdigit():
        raise FixSessionError(f"{path}: SocketConnectPort must be a port number, got {config['SocketConnectPort']!r}")
    config.setdefault("DataDictionary", str(fix44_dictionary_path()))
    for key in _PATHS:
        if key in config:
            config[key] = str((path.parent / Path(config[key]).expanduser()).resolve())
    return config
