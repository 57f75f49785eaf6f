"""Why a FIX session could not start: unknown host, connection refused, sequence numbers, a refused logon.

QuickFIX's initiator retries a failed connection forever and logs only "Disconnecting", so before it
starts, :func:`probe_endpoints` resolves the host and opens (and at once closes) one TCP connection
to the counterparty's port: an unknown host, a refused or unreachable port is reported at once, and
QuickFIX's sequence-number store is not advanced by futile logon attempts. :func:`logon_failure`
turns what happened during the logon (the counterparty's Logout text, ours, a silent disconnect, or
nothing at all) into one sentence with the cause and what to try.
"""

from __future__ import annotations

import re
import socket

from ._session_config import FixSessionError

_TOO_LOW = re.compile(r"MsgSeqNum too low, expecting (\d+) but received (\d+)")


def _endpoints(config: dict[str, str]) -> list[tuple[str, str]]:
    """(host, port) of SocketConnectHost/Port and the numbered alternates (…Host1/Port1, …)."""
    found = [(config["SocketConnectHost"], config["SocketConnectPort"])]
    n = 1
    while f"SocketConnectHost{n}" in config and f"SocketConnectPort{n}" in config:
        found.append((config[f"SocketConnectHost{n}"], config[f"SocketConnectPort{n}"]))
        n += 1
    return found


def _probe(host: str, port: str, timeout: float) -> str:
    """'' if a TCP connection to host:port opens, else the cause in a few words."""
    try:
        addresses = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        return f"unknown host {host!r} (the name does not resolve: {err.strerror})"
    causes = []
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.settimeout(timeout)
            try:
                probe.connect(address)
                return ""
            except ConnectionRefusedError:
                causes.append(f"connection refused by {host}:{port} (nothing listens on that port)")
            except TimeoutError:
                causes.append(f"no answer from {host}:{port} within {timeout:g} s (a firewall, or the wrong host)")
            except OSError as err:
                causes.append(f"cannot reach {host}:{port}: {err.strerror}")
    return causes[0] if causes else f"unknown host {host!r} (no address)"


def probe_endpoints(config: dict[str, str], path: object, timeout: float) -> None:
    """Raise :class:`FixSessionError` with the cause unless one configured host:port accepts a connection.

    Parameters
    ----------
    config : dict
        Session settings (see ``read_session_config``).
    path : path
        The settings file, named in the message.
    timeout : float
        Seconds to wait for each connection (at most 5).
    """
    causes = []
    for host, port in _endpoints(config):
        cause = _probe(host, port, min(timeout, 5.0))
        if not cause:
            return
        causes.append(cause)
    raise FixSessionError(f"cannot connect to the FIX counterparty: {'; '.join(causes)}. Check SocketConnectHost / "
                          f"SocketConnectPort in {path}; nothing was sent")


def logon_failure(config: dict[str, str], path: object, *, theirs: str, ours: str, disconnected: bool,
                  timeout: float, session: str) -> FixSessionError:
    """The error for a session that did not log on: its cause, the settings to check; nothing was sent."""
    where = f"{config['SocketConnectHost']}:{config['SocketConnectPort']} as {session}"
    for text, side in ((theirs, "the counterparty"), (ours, "our side")):
        match = _TOO_LOW.search(text)
        if match:
            expected, got = match.groups()
            return FixSessionError(
                f"sequence-number mismatch at logon to {where}: {side} expected MsgSeqNum {expected} but received "
                f"{got} ({text!r}). The session store {config['FileStorePath']} is out of step with the "
                "counterparty's: agree a reset with them (ResetOnLogon=Y in " f"{path} for one logon) or restore "
                "the store; nothing was sent")
    if theirs:
        return FixSessionError(f"logon rejected by the counterparty at {where}: {theirs!r}. Check SenderCompID / "
                               f"TargetCompID and the other session settings in {path}; nothing was sent")
    if ours:
        return FixSessionError(f"our session refused the counterparty's logon at {where}: {ours!r}; nothing was sent")
    if disconnected:
        return FixSessionError(
            f"the counterparty at {where} closed the connection during logon without a reason: check SenderCompID "
            f"/ TargetCompID in {path} (it may not know this session) and that the port is its FIX port; "
            "nothing was sent")
    return FixSessionError(f"no FIX logon to {where} within {timeout:g} s: the connection opened but no Logon "
                           f"came back; nothing was sent. Logs: {config['FileLogPath']}")
