"""From a target portfolio to orders: whole lots, cash, identifiers, files, FIX.

``export_run(run_dir, holdings, prices, out_dir, formats=...)`` writes a batch and
``send_batch_dir(batch_dir, session_cfg)`` sends it over FIX, at most once (a journal per batch id
in the state directory: :func:`read_journal`); the pieces are
:func:`build_orders` (rounding, cash, re-check of the job's rules), :func:`write_batch`
(CSV/Parquet/JSON + manifest, atomic, refuses to overwrite) and the FIX writers.
"""

from ._api import export_run
from ._batch_dir import previous_sends, read_batch, send_batch_dir
from ._blocks import (  # many accounts: block orders per asset and side, with allocations
    ALLOCATION_COLUMNS,
    BLOCK_PORTFOLIO,
    BlockOrders,
    block_fix_bytes,
    block_orders,
    render_allocations_csv,
    write_blocks,
)
from ._check import PortfolioCheck, Violation
from ._files import (
    FORMATS,
    NEUTRAL_COLUMNS,
    Mapping,
    load_mapping,
    neutral_frame,
    render_lots_csv,
    write_batch,
)
from ._fix import (
    new_order_list,
    new_order_singles,
    split_allocations,
    write_fix_bytes,
    write_fix_file,
)
from ._fix_dictionary import FixUnavailableError, FixValidationError
from ._inputs import IDENTIFIER_PREFERENCE, read_holdings, read_security_master
from ._journal import (
    AlreadySentError,
    JournalBusyError,
    JournalError,
    JournalState,
    journal_path,
    read_journal,
    state_dir,
)
from ._lots import LOT_ORDER_COLUMNS, ExportLots, export_lots, read_run_with_lots
from ._report import OrderAnswer, SendReport
from ._schema import IDENTIFIER_TYPES, ORDER_COLUMNS, SIDES, OrderBatch
from ._session import SendInterrupted, send_batch, send_messages
from ._session_config import FixSessionError, read_session_config
from ._trades import build_orders

__all__ = [
    "ALLOCATION_COLUMNS",
    "BLOCK_PORTFOLIO",
    "FORMATS",
    "IDENTIFIER_PREFERENCE",
    "IDENTIFIER_TYPES",
    "LOT_ORDER_COLUMNS",
    "NEUTRAL_COLUMNS",
    "ORDER_COLUMNS",
    "SIDES",
    "AlreadySentError",
    "BlockOrders",
    "ExportLots",
    "FixSessionError",
    "FixUnavailableError",
    "FixValidationError",
    "JournalBusyError",
    "JournalError",
    "JournalState",
    "Mapping",
    "OrderAnswer",
    "OrderBatch",
    "PortfolioCheck",
    "SendInterrupted",
    "SendReport",
    "Violation",
    "block_fix_bytes",
    "block_orders",
    "build_orders",
    "export_lots",
    "export_run",
    "journal_path",
    "load_mapping",
    "neutral_frame",
    "new_order_list",
    "new_order_singles",
    "previous_sends",
    "read_batch",
    "read_holdings",
    "read_journal",
    "read_run_with_lots",
    "read_security_master",
    "read_session_config",
    "render_allocations_csv",
    "render_lots_csv",
    "send_batch",
    "send_batch_dir",
    "send_messages",
    "split_allocations",
    "state_dir",
    "write_batch",
    "write_blocks",
    "write_fix_bytes",
    "write_fix_file",
]
