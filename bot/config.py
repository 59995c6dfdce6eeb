"""Slack settings: SLACK_* environment variables (and a .env file); tokens are SecretStr, so they
never show in a repr, a log line or an error message."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SLACK_API_URL = "https://slack.com/api/"


class SlackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    slack_bot_token: SecretStr = Field(SecretStr(""), description="Bot token (xoxb-…)")
    slack_app_token: SecretStr = Field(SecretStr(""), description="App-level token (xapp-…), for Socket Mode")
    slack_signing_secret: SecretStr = Field(SecretStr(""), description="Signing secret, for HTTP events")
    slack_api_url: str = Field(SLACK_API_URL, description="Web API base URL (a proxy or a test server)")
    qa_slack_command: str = Field("/ask", description="The slash command the bot answers")
    qa_alert_threshold: float | None = Field(
        None,
        description="Match score at or above which a newly indexed article is posted to a channel following the "
        "topic; empty: the value calibrated for the default model (qa/search/topics.py)",
    )
    qa_alert_max_per_hour: int = Field(
        10, ge=0, description="Alerts posted to one channel in any hour at most; the rest are dropped; 0: none"
    )
    qa_alert_interval: float = Field(2.0, gt=0, description="Seconds between checks for newly indexed articles")

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, url: str) -> str:
        return url if url.endswith("/") else url + "/"

    @field_validator("qa_slack_command")
    @classmethod
    def _slash(cls, command: str) -> str:
        command = command.strip() or "/ask"
        return command if command.startswith("/") else "/" + command

    @property
    def bot_token(self) -> str:
        return self.slack_bot_token.get_secret_value().strip()

    @property
    def app_token(self) -> str:
        return self.slack_app_token.get_secret_value().strip()

    @property
    def signing_secret(self) -> str:
        return self.slack_signing_secret.get_secret_value().strip()

    @property
    def http_enabled(self) -> bool:
        """HTTP events at /slack/events: needs the signing secret and the bot token."""
        return bool(self.signing_secret and self.bot_token)

    @property
    def socket_enabled(self) -> bool:
        """Socket Mode: needs the app-level token and the bot token."""
        return bool(self.app_token and self.bot_token)
