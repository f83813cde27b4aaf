"""Reads of the customer secret that holds a target's CKN/CAK pair."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from ..errors import SecretNotFound
from ..keys import shown
from .aws_errors import error_code, error_message, transient_errors_typed

if TYPE_CHECKING:
    from botocore.client import BaseClient

CURRENT = "AWSCURRENT"
PREVIOUS = "AWSPREVIOUS"
PENDING = "AWSPENDING"


@dataclass(frozen=True)
class Secret:
    arn: str
    name: str
    tags: dict[str, str]
    versions: dict[str, list[str]] = field(default_factory=dict)
    rotation_enabled: bool = False

    def version_in_stage(self, stage: str) -> str | None:
        return next((v for v, stages in self.versions.items() if stage in stages), None)


class SecretsGateway:
    def __init__(self, client: BaseClient) -> None:
        self._client = client

    def describe(self, secret_id: str) -> Secret:
        with transient_errors_typed():
            try:
                raw = self._client.describe_secret(SecretId=secret_id)
            except ClientError as error:
                if error_code(error) in ("ResourceNotFoundException", "AccessDeniedException", "ValidationException"):
                    raise SecretNotFound(
                        f"secret {shown(secret_id)} cannot be read ({error_code(error)}: {error_message(error)}). "
                        "Check the secret id and that its name starts with the managed prefix."
                    ) from None
                raise
        if raw.get("DeletedDate"):
            raise SecretNotFound(
                f"secret {shown(secret_id)} is scheduled for deletion; restore it or use another secret."
            )
        return Secret(
            arn=raw["ARN"],
            name=raw["Name"],
            tags={t["Key"]: t["Value"] for t in raw.get("Tags", [])},
            versions={v: list(stages) for v, stages in raw.get("VersionIdsToStages", {}).items()},
            rotation_enabled=bool(raw.get("RotationEnabled")),
        )

    def secret_string(self, secret_arn: str, version_id: str) -> str | None:
        """The raw SecretString of one version; the caller parses it and keeps the CAK local."""
        with transient_errors_typed():
            try:
                raw = self._client.get_secret_value(SecretId=secret_arn, VersionId=version_id)
            except ClientError as error:
                if error_code(error) == "ResourceNotFoundException":
                    raise SecretNotFound(
                        f"secret {shown(secret_arn)} version {shown(version_id)} is gone ({error_message(error)})."
                    ) from None
                raise
        value = raw.get("SecretString")
        return value if isinstance(value, str) else None

    def version_ids(self, secret_arn: str) -> list[str]:
        """Every version of the secret, labelled or not (Secrets Manager keeps unlabelled ones for a
        while), newest first."""
        versions: list[dict[str, object]] = []
        request: dict[str, object] = {"SecretId": secret_arn, "IncludeDeprecated": True}
        with transient_errors_typed():
            while True:  # ListSecretVersionIds pages by NextToken; botocore has no paginator for it
                try:
                    page = self._client.list_secret_version_ids(**request)
                except ClientError as error:
                    if error_code(error) == "ResourceNotFoundException":
                        raise SecretNotFound(f"secret {shown(secret_arn)} is gone ({error_message(error)}).") from None
                    raise
                versions += page.get("Versions", [])
                if not page.get("NextToken"):
                    break
                request["NextToken"] = page["NextToken"]
        versions.sort(key=lambda v: str(v.get("CreatedDate", "")), reverse=True)
        return [str(v["VersionId"]) for v in versions]

    def staged_string(self, secret_arn: str, stage: str, version_id: str | None = None) -> str | None:
        """The SecretString in `stage` (of `version_id` when given), or None when there is none yet."""
        request = {"SecretId": secret_arn, "VersionStage": stage} | ({"VersionId": version_id} if version_id else {})
        with transient_errors_typed():
            try:
                raw = self._client.get_secret_value(**request)
            except ClientError as error:
                if error_code(error) == "ResourceNotFoundException":
                    return None
                raise
        value = raw.get("SecretString")
        return value if isinstance(value, str) else None

    def put_pending(self, secret_arn: str, version_id: str, secret_string: str) -> None:
        with transient_errors_typed():
            self._client.put_secret_value(
                SecretId=secret_arn,
                ClientRequestToken=version_id,
                SecretString=secret_string,
                VersionStages=[PENDING],
            )

    def make_current(self, secret_arn: str, version_id: str, current_version_id: str | None) -> None:
        """Move AWSCURRENT to `version_id`; Secrets Manager moves the old one to AWSPREVIOUS."""
        request = {"SecretId": secret_arn, "VersionStage": CURRENT, "MoveToVersionId": version_id}
        if current_version_id:
            request["RemoveFromVersionId"] = current_version_id
        with transient_errors_typed():
            self._client.update_secret_version_stage(**request)

    def under_prefix(self, prefix: str) -> list[Secret]:
        """Every secret whose name starts with `prefix` (Secrets Manager filters by name prefix)."""
        found: list[Secret] = []
        with transient_errors_typed():
            pages = self._client.get_paginator("list_secrets").paginate(Filters=[{"Key": "name", "Values": [prefix]}])
            for page in pages:
                for raw in page.get("SecretList", []):
                    if raw["Name"].startswith(prefix) and not raw.get("DeletedDate"):
                        found.append(
                            Secret(
                                arn=raw["ARN"],
                                name=raw["Name"],
                                tags={t["Key"]: t["Value"] for t in raw.get("Tags", [])},
                                versions={v: list(s) for v, s in raw.get("SecretVersionsToStages", {}).items()},
                            )
                        )
        return found
