"""Typed errors. The class name is the error name Step Functions sees and matches in Retry/Catch,
so renaming a class is a breaking change. Messages tell an operator what happened and what to do;
they may name CKNs, secret ARNs and version ids, never a CAK.

AssociationTimeout, RouterNotConfirmed, DisassociationTimeout and EncryptionDown end a target only after a repair step
(roll back, restore), so the logic reports them as data for a Fail state rather than raising them;
their names still come from these classes."""


class RotationError(Exception):
    """A failure the workflow reports under this class's name."""

    @property
    def error_name(self) -> str:
        return type(self).__name__


class InvalidInput(RotationError):
    """The console input or event is not understood."""


class SecretNotFound(RotationError):
    """The secret named by the input does not exist or cannot be read."""


class TargetNotFound(RotationError):
    """No connection or LAG with that id in this account and Region."""


class TargetNotAuthorized(RotationError):
    """The target is not bound to the secret by its owner (Direct Connect tag macsec:secret)."""


class InvalidKeyMaterial(RotationError):
    """The secret value is not a JSON object with a 64-hex-digit ckn and cak."""


class VersionNotCurrent(RotationError):
    """The secret version is pending or superseded, so it must not be put on a link."""


class TargetNotMacsecCapable(RotationError):
    """The connection or LAG was not created with MACsec support."""


class TargetNotAvailable(RotationError):
    """The connection or LAG is not in the `available` state."""


class KeychainFull(RotationError):
    """The target already holds three keys, none of them the new one."""


class TargetBusy(RotationError):
    """Another execution kept the target's lock longer than this one may wait; nothing was changed."""


class Aborted(RotationError):
    """An operator asked to abort the execution (`macsec-rotation abort`) and it stopped at a safe point,
    before any old key was removed: the target is as before (a new key already on it was rolled back)."""


class AssociationRejected(RotationError):
    """Direct Connect refused to associate the new key."""


class AssociationTimeout(RotationError):
    """The new key did not become `associated` in time (or was dropped); it was removed again."""


class RouterNotConfirmed(RotationError):
    """The router automation did not confirm the new key within routerConfirmationTimeoutSeconds; the new key
    was rolled back and the old ones kept, so the link never lost encryption."""


class InvalidConfirmation(RotationError):
    """A `MACsec Router Key Installed` event without a valid target and CKN; nothing was changed."""


class NewKeyNotAssociated(RotationError):
    """The new key is no longer `associated`, so old keys are kept."""


class DirectConnectRefused(RotationError):
    """Direct Connect refused a disassociation or a mode change for a reason that is not transient."""


class DisassociationTimeout(RotationError):
    """An old key stayed in `disassociating` longer than the configured timeout."""


class EncryptionDown(RotationError):
    """Encryption went down after the old key was removed; the previous key was restored."""


# Transient errors: retried by the state machine with backoff and jitter. Their names match the
# service error codes so that the Retry blocks read like the AWS documentation.
class ThrottlingException(RotationError):
    """An AWS API throttled the function beyond what the SDK retries absorbed."""


class DirectConnectServerException(RotationError):
    """Direct Connect reported a server-side error."""


class DirectConnectBusy(RotationError):
    """Direct Connect refused a request for a reason that passes (the target is being updated, a key is
    still on its way out): retried by the state machine, this name once the retries are spent."""


class WorkflowError(RotationError):
    """A step failed with an error the workflow does not name itself (Step Functions' own `States.*`
    errors); the cause keeps the original name. Custom error names must not begin with `States.`."""


def reported_error_name(name: str) -> str:
    """The name a Fail state may carry: Step Functions reserves the `States.` prefix."""
    return WorkflowError.__name__ if name.startswith("States.") else name
