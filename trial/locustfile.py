"""A short peak-load run against the template's API through nginx (trial/setup.sh runs it)."""

import os

from locust import HttpUser, constant_throughput, task


class ApiUser(HttpUser):
    wait_time = constant_throughput(2)

    def on_start(self) -> None:
        self.client.verify = os.environ["TRIAL_CA_FILE"]  # the trial's private CA
        answer = self.client.post(
            "/api/v1/login/access-token",
            data={
                "username": os.environ["TRIAL_USER"],
                "password": os.environ["TRIAL_PASSWORD"],
            },
            name="/api/v1/login/access-token",
        )
        token = answer.json()["access_token"]
        self.client.headers["Authorization"] = f"Bearer {token}"

    @task(3)
    def items(self) -> None:
        self.client.get("/api/v1/items/", name="/api/v1/items/")

    @task(1)
    def me(self) -> None:
        self.client.get("/api/v1/users/me", name="/api/v1/users/me")

    @task(1)
    def health(self) -> None:
        self.client.get("/api/v1/utils/health-check/", name="/api/v1/utils/health-check/")
