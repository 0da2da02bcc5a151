"""The secure summation of federated/v6_msc_sle: the central side gets the exact sum over centres
and, from one centre's answer, numbers that do not show its counts; masks are bound to the question."""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from msc_sle.contract.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "federated"))
from v6_msc_sle import node, secure  # noqa: E402

sys.path.pop(0)

SECRET = b"the consortium's secret, not the server's"
CENTRES = ["1", "2", "3"]


def _answers(vectors, question, nonce="n1", secret=SECRET):
    return [secure.masked(v, secret, me, CENTRES, nonce, question) for me, v in zip(CENTRES, vectors)]


def test_masks_cancel_and_the_sum_is_exact():
    rng = np.random.default_rng(3)
    vectors = [rng.integers(0, 40, size=25).tolist() for _ in CENTRES]
    vectors[1][0] = -7   # signed values (fixed-point moments) sum too
    total = secure.unmask_sum(_answers(vectors, {"kind": "summary"}))
    assert total == [sum(col) for col in zip(*vectors)]


def test_one_centres_answer_shows_nothing_of_its_counts():
    answer = _answers([[0, 1, 2, 3]] * 3, {"kind": "summary"})[0]
    assert all(int(x) > 2 ** 64 for x in answer)
    # the same counts under another nonce give unrelated numbers
    assert set(answer).isdisjoint(_answers([[0, 1, 2, 3]] * 3, {"kind": "summary"}, nonce="n2")[0])


def test_a_mask_is_bound_to_the_question():
    # two questions under one nonce: the difference of one centre's answers is not the difference of its counts
    a = _answers([[5], [0], [0]], {"kind": "at_most", "x": 1})[0]
    b = _answers([[9], [0], [0]], {"kind": "at_most", "x": 2})[0]
    assert (int(b[0]) - int(a[0])) % (1 << secure.MODULUS_BITS) != 4
    # without the secret the sum is garbage, not the counts
    wrong = [secure.masked([5], b"another secret!!", "1", CENTRES, "n1", {"q": 1})] + _answers([[0], [0], [0]], {"q": 1})[1:]
    assert secure.unmask_sum(wrong) != [5]


def test_fixed_point_moments_round_trip():
    x = np.array([-25.262848827231863, 1e-9, 3.5e7, 0.1])
    np.testing.assert_allclose(secure.decode_fixed(secure.encode_fixed(x)), x, rtol=0, atol=2 ** -50)


def test_a_task_cannot_lower_a_nodes_threshold(monkeypatch):
    monkeypatch.setenv(node.MIN_COUNT_ENV, "7")
    assert node.node_threshold(2) == 7 and node.node_threshold(9) == 9
    monkeypatch.delenv(node.MIN_COUNT_ENV)
    assert node.node_threshold(None) == node.DEFAULT_MIN_COUNT


def test_a_node_without_the_secret_or_with_too_few_centres_refuses(monkeypatch):
    monkeypatch.delenv(node.SECRET_ENV, raising=False)
    folder = REPO_ROOT / "data" / "synthetic"
    q = {"kind": "summary", "centres": CENTRES, "nonce": "n", "overrides": {}}
    assert "consortium secret" in node.answer(str(folder), q, "1")["refused"]
    monkeypatch.setenv(node.SECRET_ENV, SECRET.decode())
    assert "at least 3 centres" in node.answer(str(folder), {**q, "centres": ["1", "2"]}, "1")["refused"]


def test_the_stratified_terms_leave_masked_and_sum_to_the_centres_own(monkeypatch, tmp_path):
    # the summary's counts and the tests' fixed-point terms travel in one masked vector (two vectors
    # masked under one question would share their masks); their sum is the sum of each centre's terms
    from msc_sle.contract.paths import BUNDLED_DATA
    from msc_sle.tools.multicentre import split_extract

    monkeypatch.setenv(node.SECRET_ENV, SECRET.decode())
    q = {"kind": "summary", "centres": CENTRES, "nonce": "n", "overrides": {}, "outcome": "cr"}
    folders = list(split_extract(BUNDLED_DATA, tmp_path, seed=11).values())
    answers = [node.answer(str(f), q, me) for me, f in zip(CENTRES, folders)]
    n_keys = len(answers[0]["keys"])
    assert all(int(x) > 2 ** 64 for x in answers[0]["counts"][n_keys:n_keys + 20])
    summed = secure.decode_fixed(secure.unmask_sum([a["counts"] for a in answers])[n_keys:])
    own = [np.concatenate([xs for _, xs in node.stratified_sums(node.prepare(str(f), {})[3], "cr")])
           for f in folders]
    np.testing.assert_allclose(summed, np.sum(own, axis=0), rtol=0, atol=1e-12)
    assert [k for k, _ in answers[0]["stratified"]] == [k for k, _ in node.stratified_sums(node.prepare(str(folders[0]), {})[3], "cr")]
