"""Requests generated from the OpenAPI schema by schemathesis, valid and invalid, with an
admin token: the API never answers with a 5xx.

The operations are driven one by one through schemathesis' Hypothesis strategies (its pytest
plugin does not run on this pytest); a few hundred requests in all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from .conftest import Api, ApiBuilder, Seed

EXAMPLES = {GenerationMode.POSITIVE: 5, GenerationMode.NEGATIVE: 4}


@pytest.fixture(scope="module")
def fuzzed_api(tmp_path_factory: pytest.TempPathFactory, seed: Seed) -> Iterator[Api]:
    builder = ApiBuilder(tmp_path_factory.mktemp("fuzz"), seed)
    api = builder()
    # Streams end at once: a generated request to /stream must not wait forever.
    api.app.state.services.streams.close()
    yield api
    builder.close()


def _operations(api: Api) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", list(EXAMPLES), ids=str)
def test_no_server_errors(fuzzed_api: Api, mode: GenerationMode) -> None:
    headers = fuzzed_api.headers("admin")
    errors: list[str] = []
    calls = 0
    statuses: Counter[int] = Counter()
    operations = _operations(fuzzed_api)
    assert len(operations) > 40

    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES[mode], deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            nonlocal calls
            response = case.call(headers={**(case.headers or {}), **headers})
            calls += 1
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                errors.append(f"{case.method} {case.formatted_path} {case.query} "
                              f"{str(case.body)[:200]} -> {response.status_code} "
                              f"{response.text[:200]}")

        try:
            run()
        except Unsatisfiable:  # nothing about this operation can be invalid (no parameters)
            assert mode is GenerationMode.NEGATIVE
    assert calls >= len(operations)
    assert errors == []
    if mode is GenerationMode.POSITIVE:
        # The token got through: the requests reached the routes, not only the auth check.
        # (Negative cases include requests schemathesis strips the token from.)
        assert statuses[401] == 0, statuses
        assert sum(n for status, n in statuses.items() if status < 300) > calls // 4, statuses
