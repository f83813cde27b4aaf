"""The router automation's way in: an event bus of the stack's own, where only the principals of
routerAutomationPrincipals may put `MACsec Router Key Installed`, and the rule that hands it to the function that
answers the waiting rotation. The automation needs nothing but events:PutEvents on this bus."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .settings import ACCOUNT_ID, DeploymentSettings

ROUTER_KEY_INSTALLED = "MACsec Router Key Installed"


class RouterConfirmations(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        settings: DeploymentSettings,
        confirm: lambda_.Function,
        dead_letters: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        confirm.configure_async_invoke(retry_attempts=2, on_failure=destinations.SqsDestination(dead_letters))
        self.bus = events.EventBus(self, "Bus", event_bus_name=f"{settings.stack_name}-router")
        principals: list[iam.IPrincipal] = [
            iam.AccountPrincipal(p) if ACCOUNT_ID.fullmatch(p) else iam.ArnPrincipal(p)
            for p in settings.router_automation_principals
        ] or [iam.AccountPrincipal(stack.account)]
        self.bus.add_to_resource_policy(
            iam.PolicyStatement(
                sid="RouterAutomationConfirms",
                actions=["events:PutEvents"],
                principals=principals,
                resources=[self.bus.event_bus_arn],
            )
        )
        self.rule = events.Rule(
            self,
            "KeyInstalled",
            description="The router automation installed a new MACsec key: answer the rotation waiting for it",
            event_bus=self.bus,
            event_pattern=events.EventPattern(detail_type=[ROUTER_KEY_INSTALLED]),
            targets=[
                targets.LambdaFunction(
                    confirm, dead_letter_queue=dead_letters, retry_attempts=8, max_event_age=Duration.hours(2)
                )
            ],
        )
