"""An operator's abort (`macsec-rotation abort NAME`): honoured only at a safe point, where nothing has been
removed yet. The request is an item of the lock table (LocksGateway.request_abort) that Begin looks for, and the
watcher for the lock, router and association waits (the association's sends the new key to the roll-back). Once
CleanUp has started the rotation finishes as it would have."""

from __future__ import annotations

from ..errors import Aborted
from ..models import Failure, TargetRotation
from ..observability import logger

ABORTED = "aborted"  # the status the workflow's Choice states route to the way out of the iteration


def aborted(item: TargetRotation, where: str) -> TargetRotation:
    """The item ended by the operator's request at `where`, nothing on the target changed."""
    logger.warning("rotation aborted", target=item.target, at=where)
    cause = (
        f"The rotation of {item.target} was aborted by an operator request {where}; nothing was changed on "
        "the target and this execution holds no lock on it. Start the rotation again when ready "
        "(macsec-rotation rerun)."
    )
    return item.model_copy(update={"status": ABORTED, "failure": Failure(error=Aborted.__name__, cause=cause)})
