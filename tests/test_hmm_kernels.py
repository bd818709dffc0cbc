"""Hidden-Markov-model kernels against enumeration of every state path and their NumPy twins."""

import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import logsumexp

from emkit.models import hmm_kernels as hk


def _log(a):
    with np.errstate(divide="ignore"):
        return np.log(a)


def _offsets(lengths):
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def _random_model(rng, k, zeros=False):
    startprob = rng.dirichlet(np.ones(k))
    transmat = rng.dirichlet(np.ones(k), size=k)
    if zeros and k > 1:
        # Structural zeros: a state that never starts, and transitions that never happen
        # (the diagonal is kept, so that every row still sums to 1).
        startprob[-1] = 0.0
        startprob /= startprob.sum()
        off = rng.random((k, k)) < 0.5
        np.fill_diagonal(off, False)
        transmat[off] = 0.0
        transmat /= transmat.sum(axis=1, keepdims=True)
    return startprob, transmat


def _oracle(x, startprob, transmat):
    """Log-likelihood, posteriors, expected transitions and best path of one sequence, by
    enumerating all of its state paths. Ties go to the path that is smallest read backwards
    (the last state lowest, then the one before it, ...), which is Viterbi's rule."""
    length, k = x.shape
    log_start, log_trans = _log(startprob), _log(transmat)
    paths = np.array(list(itertools.product(range(k), repeat=length)))
    # Summed in the order the Viterbi recursion adds, so that exact ties stay exact.
    lp = log_start[paths[:, 0]] + x[0, paths[:, 0]]
    for t in range(1, length):
        lp = lp + log_trans[paths[:, t - 1], paths[:, t]]
        lp = lp + x[t, paths[:, t]]
    ll = logsumexp(lp)
    gamma = np.zeros((length, k))
    xi = np.zeros((k, k))
    if ll > -np.inf:
        p = np.exp(lp - ll)
        for t in range(length):
            np.add.at(gamma[t], paths[:, t], p)
        for t in range(length - 1):
            np.add.at(xi, (paths[:, t], paths[:, t + 1]), p)
    best = lp.max()
    path = min((tuple(q) for q in paths[lp == best]), key=lambda q: q[::-1])
    return ll, gamma, xi, np.array(path), best


def _check_against_oracle(x, offsets, startprob, transmat, weights, results):
    post, start_counts, trans_counts, logliks = results
    k = x.shape[1]
    exp_start = np.zeros(k)
    exp_trans = np.zeros((k, k))
    for s, w in enumerate(weights):
        a, b = offsets[s], offsets[s + 1]
        ll, gamma, xi, _, _ = _oracle(x[a:b], startprob, transmat)
        assert_allclose(logliks[s], ll, rtol=1e-12, atol=1e-12)
        assert_allclose(post[a:b], w * gamma, rtol=1e-10, atol=1e-13)
        exp_start += w * gamma[0]
        exp_trans += w * xi
    assert_allclose(start_counts, exp_start, rtol=1e-10, atol=1e-13)
    assert_allclose(trans_counts, exp_trans, rtol=1e-10, atol=1e-13)


# -- brute-force oracle --------------------------------------------------------------------


@pytest.mark.parametrize("case", ["dense", "zeros", "-inf"])
@pytest.mark.parametrize("length", [1, 2, 5])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_against_enumeration_of_all_paths(k, length, case):
    rng = np.random.default_rng(100 * k + 10 * length + len(case))
    startprob, transmat = _random_model(rng, k, zeros=case == "zeros")
    lengths = [length, 1 + length // 2, length, 2]
    offsets = _offsets(lengths)
    x = rng.normal(scale=3.0, size=(offsets[-1], k)) - 5.0
    if case == "-inf":
        x[rng.random(x.shape) < 0.3] = -np.inf
    weights = rng.uniform(0.5, 2.0, len(lengths))

    for fb in (hk.forward_backward, hk.forward_backward_reference):
        results = fb(x, offsets, startprob, transmat, weights)
        _check_against_oracle(x, offsets, startprob, transmat, weights, results)
        assert not np.isnan(results[0]).any()

    log_start, log_trans = _log(startprob), _log(transmat)
    for vit in (hk.viterbi, hk.viterbi_reference):
        states, logprobs = vit(x, offsets, log_start, log_trans)
        for s in range(len(lengths)):
            a, b = offsets[s], offsets[s + 1]
            _, _, _, path, best = _oracle(x[a:b], startprob, transmat)
            assert_allclose(logprobs[s], best, rtol=1e-12)
            if best > -np.inf:  # the path of an impossible sequence is meaningless
                assert_array_equal(states[a:b], path)


@pytest.mark.parametrize("k", [2, 3, 5, 9])
def test_viterbi_breaks_ties_towards_the_lowest_state(k):
    rng = np.random.default_rng(7 + k)
    for _ in range(10):
        lengths = [int(n) for n in rng.integers(1, 5, size=3)]
        offsets = _offsets(lengths)
        # Small integers: path scores are exact, so many paths tie exactly.
        x = rng.integers(-2, 1, size=(offsets[-1], k)).astype(float)
        log_start = rng.integers(-1, 1, size=k).astype(float)
        log_trans = rng.integers(-1, 1, size=(k, k)).astype(float)
        states, logprobs = hk.viterbi(x, offsets, log_start, log_trans)
        ref_states, ref_logprobs = hk.viterbi_reference(x, offsets, log_start, log_trans)
        assert_array_equal(states, ref_states)
        assert_array_equal(logprobs, ref_logprobs)
        for s in range(len(lengths)):
            a, b = offsets[s], offsets[s + 1]
            _, _, _, path, best = _oracle(x[a:b], np.exp(log_start), np.exp(log_trans))
            assert logprobs[s] == best
            assert_array_equal(states[a:b], path)


# -- kernel against reference ----------------------------------------------------------------


def _moderate_problem(rng, k=7, n_seq=15, zeros=False, max_len=150):
    startprob, transmat = _random_model(rng, k, zeros=zeros)
    lengths = rng.integers(1, max_len, size=n_seq)
    offsets = _offsets(lengths)
    x = rng.normal(scale=4.0, size=(offsets[-1], k)) - 3.0
    weights = rng.uniform(0.0, 3.0, n_seq)
    return x, offsets, startprob, transmat, weights


def _assert_fb_close(got, ref, rtol=1e-10):
    post, start_counts, trans_counts, logliks = got
    ref_post, ref_start, ref_trans, ref_ll = ref
    assert_allclose(logliks, ref_ll, rtol=rtol)
    assert_allclose(post, ref_post, rtol=rtol, atol=1e-12 * max(1.0, ref_post.max()))
    assert_allclose(start_counts, ref_start, rtol=rtol, atol=1e-12)
    assert_allclose(trans_counts, ref_trans, rtol=rtol, atol=1e-12 * max(1.0, ref_trans.max()))


@pytest.mark.parametrize("zeros", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_forward_backward_matches_reference(seed, zeros):
    rng = np.random.default_rng(seed)
    x, offsets, startprob, transmat, weights = _moderate_problem(rng, zeros=zeros)
    got = hk.forward_backward(x, offsets, startprob, transmat, weights)
    _assert_fb_close(got, hk.forward_backward_reference(x, offsets, startprob, transmat, weights))
    post, start_counts, trans_counts, _ = got
    # Every row sums to its sequence's weight; transitions to the weighted number of pairs.
    row_weights = np.repeat(weights, np.diff(offsets))
    assert_allclose(post.sum(axis=1), row_weights, rtol=1e-13)
    assert_allclose(start_counts.sum(), weights.sum(), rtol=1e-13)
    assert_allclose(trans_counts.sum(), weights @ (np.diff(offsets) - 1), rtol=1e-12)


@pytest.mark.parametrize("k", [1, 4, 8, 9, 13, 16, 33])
def test_forward_backward_matches_reference_for_sizes_around_the_blocking(k):
    rng = np.random.default_rng(k)
    x, offsets, startprob, transmat, weights = _moderate_problem(rng, k=k, n_seq=4, max_len=40)
    _assert_fb_close(
        hk.forward_backward(x, offsets, startprob, transmat, weights),
        hk.forward_backward_reference(x, offsets, startprob, transmat, weights),
    )


@pytest.mark.parametrize("zeros", [False, True])
def test_viterbi_matches_reference(zeros):
    rng = np.random.default_rng(5)
    x, offsets, startprob, transmat, _ = _moderate_problem(rng, zeros=zeros)
    log_start, log_trans = _log(startprob), _log(transmat)
    states, logprobs = hk.viterbi(x, offsets, log_start, log_trans)
    ref_states, ref_logprobs = hk.viterbi_reference(x, offsets, log_start, log_trans)
    assert states.dtype == np.int64
    assert_array_equal(states, ref_states)
    assert_array_equal(logprobs, ref_logprobs)


# -- numerical range -------------------------------------------------------------------------


def _log_forward_shifted(x, startprob, transmat):
    """``log p(x_0..x_t, z_t = k)`` by a log-space recursion that shifts by the maximum of
    the previous row and multiplies by the transition matrix (BLAS): K exponentials a step
    instead of the reference's K^2, and exact when every transition probability is positive."""
    log_alpha = np.empty_like(x)
    log_alpha[0] = _log(startprob) + x[0]
    for t in range(1, x.shape[0]):
        top = log_alpha[t - 1].max()
        log_alpha[t] = np.log(np.exp(log_alpha[t - 1] - top) @ transmat) + top + x[t]
    return log_alpha


def test_long_sequence_with_many_states():
    rng = np.random.default_rng(11)
    k, length = 100, 100_000
    startprob = rng.dirichlet(np.ones(k))
    transmat = rng.dirichlet(np.full(k, 0.3), size=k)
    x = rng.normal(scale=5.0, size=(length, k)) - 20.0
    post, start_counts, trans_counts, logliks = hk.forward_backward(
        x, np.array([0, length]), startprob, transmat, np.empty(0)
    )
    # The reference's exact recursion costs K^2 exponentials a step (seconds here): it checks
    # the faster log-space recursion on a prefix, which then checks the kernel.
    head = x[:1000]
    assert_allclose(
        _log_forward_shifted(head, startprob, transmat),
        hk._log_forward_reference(head, _log(startprob), _log(transmat)),
        rtol=1e-12,
    )
    expected = logsumexp(_log_forward_shifted(x, startprob, transmat)[-1])
    assert np.isfinite(logliks[0])
    assert_allclose(logliks[0], expected, rtol=1e-9)
    assert_allclose(post.sum(axis=1), 1.0, rtol=1e-12)
    assert_allclose(start_counts.sum(), 1.0, rtol=1e-12)
    assert_allclose(trans_counts.sum(), length - 1, rtol=1e-10)


def test_emissions_spread_over_thousands_of_nats():
    rng = np.random.default_rng(12)
    k, n_seq = 4, 6
    startprob, transmat = _random_model(rng, k)
    offsets = _offsets(rng.integers(50, 300, size=n_seq))
    # Around -1e4, the states of a row 800 nats apart: exp of any difference underflows.
    ranks = np.argsort(rng.random((offsets[-1], k)), axis=1)
    x = -1e4 - 800.0 * ranks + rng.normal(size=ranks.shape)
    weights = rng.uniform(0.5, 2.0, n_seq)
    got = hk.forward_backward(x, offsets, startprob, transmat, weights)
    ref = hk.forward_backward_reference(x, offsets, startprob, transmat, weights)
    assert np.isfinite(got[3]).all()
    assert_allclose(got[3], ref[3], rtol=1e-13)
    # Log-space terms here are of order |log p| ~ 3e6, known to |log p| * eps ~ 1e-9
    # absolutely: the reference's posteriors are only good to about that, relatively.
    _assert_fb_close(got, ref, rtol=1e-8)


def test_transitions_down_to_1e_300_that_emissions_make_likely():
    k = 5
    startprob = np.full(k, 1.0 / k)
    transmat = np.full((k, k), 1e-300) + np.eye(k)
    transmat /= transmat.sum(axis=1, keepdims=True)
    offsets = _offsets([40, 60])
    # Every few steps a different state is 800 nats likelier: the path must take transitions
    # of probability 1e-300 (690 nats) to follow it.
    x = np.zeros((offsets[-1], k))
    for t in range(offsets[-1]):
        x[t, (t // 7) % k] = 800.0
    got = hk.forward_backward(x, offsets, startprob, transmat, np.empty(0))
    _assert_fb_close(
        got, hk.forward_backward_reference(x, offsets, startprob, transmat, np.empty(0))
    )
    assert np.all(np.isfinite(got[3]))


def test_unreachable_states_that_emit_almost_best_while_the_scale_is_tiny():
    # States 2 and 3 can never be reached, and emit nearly as well as state 1, the best; state
    # 1 is entered with probability 1e-100 at every step, so every step's scale is ~1e-100.
    # Kept in the backward pass, the unreachable states' messages would grow by 1e100 a step.
    length = 60
    startprob = np.array([1.0, 0.0, 0.0, 0.0])
    live = [1.0 - 1e-100, 1e-100, 0.0, 0.0]
    transmat = np.array([live, live, [0.0, 0.0, 0.5, 0.5], [0.0, 0.0, 0.5, 0.5]])
    x = np.tile([-1000.0, 0.0, -1.0, -1.0], (length, 1))
    offsets = np.array([0, length])
    got = hk.forward_backward(x, offsets, startprob, transmat, np.empty(0))
    assert not any(np.isnan(r).any() for r in got)
    _assert_fb_close(
        got, hk.forward_backward_reference(x, offsets, startprob, transmat, np.empty(0))
    )


def test_left_to_right_model_whose_unreachable_states_emit_best():
    # Only state 0 can start and each step moves at most one state on; a state that cannot be
    # reached yet emits 1000 nats better than those that can.
    k = 4
    startprob = np.array([1.0, 0.0, 0.0, 0.0])
    transmat = np.array(
        [[0.6, 0.4, 0.0, 0.0], [0.0, 0.7, 0.3, 0.0], [0.0, 0.0, 0.5, 0.5], [0.0, 0.0, 0.0, 1.0]]
    )
    rng = np.random.default_rng(14)
    x = rng.normal(size=(5, k)) - 1000.0
    for t in range(5):
        x[t, t + 1 :] += 1000.0
    offsets = np.array([0, 5])
    got = hk.forward_backward(x, offsets, startprob, transmat, np.empty(0))
    assert np.isfinite(got[3][0])
    _check_against_oracle(x, offsets, startprob, transmat, [1.0], got)
    _assert_fb_close(
        got, hk.forward_backward_reference(x, offsets, startprob, transmat, np.empty(0))
    )
    _, logprobs = hk.viterbi(x, offsets, _log(startprob), _log(transmat))
    assert np.isfinite(logprobs[0])


def test_deterministic_cycle_with_better_emissions_off_the_cycle():
    # The state at step t is t mod k; every other state emits 1000 nats better, at every step.
    k, length = 5, 300
    startprob = np.eye(k)[0]
    transmat = np.roll(np.eye(k), 1, axis=1)
    rng = np.random.default_rng(15)
    x = rng.normal(size=(length, k)) + 1000.0
    on_cycle = np.arange(length) % k
    x[np.arange(length), on_cycle] -= 1000.0
    post, start_counts, trans_counts, logliks = hk.forward_backward(
        x, np.array([0, length]), startprob, transmat, np.empty(0)
    )
    assert_allclose(logliks[0], x[np.arange(length), on_cycle].sum(), rtol=1e-13)
    assert_array_equal(start_counts, startprob)
    assert_array_equal(post, np.eye(k)[on_cycle])
    assert_allclose(trans_counts, transmat * np.bincount(on_cycle[:-1], minlength=k)[:, None])


def test_impossible_sequence_gives_minus_inf_and_leaves_the_others_alone():
    rng = np.random.default_rng(16)
    x, offsets, startprob, transmat, weights = _moderate_problem(rng, n_seq=3)
    startprob = np.array([0.5, 0.5, 0, 0, 0, 0, 0])
    a, b = offsets[1], offsets[2]
    bad = x.copy()
    bad[a, :2] = -np.inf  # the first row of sequence 1 cannot be emitted by a starting state
    got = hk.forward_backward(bad, offsets, startprob, transmat, weights)
    ref = hk.forward_backward_reference(bad, offsets, startprob, transmat, weights)
    assert got[3][1] == -np.inf
    assert not any(np.isnan(r).any() for r in got)
    assert_array_equal(got[0][a:b], 0.0)
    _assert_fb_close(got, ref)
    # The other two sequences give what they give on their own.
    keep = np.r_[offsets[0] : offsets[1], offsets[2] : offsets[3]]
    alone = hk.forward_backward(
        x[keep], _offsets(np.diff(offsets)[[0, 2]]), startprob, transmat, weights[[0, 2]]
    )
    assert_allclose(got[0][keep], alone[0], rtol=1e-14, atol=1e-300)
    assert_allclose(got[1], alone[1], rtol=1e-14)
    assert_allclose(got[2], alone[2], rtol=1e-14)
    assert_array_equal(got[3][[0, 2]], alone[3])
    # A row no state at all can emit, in the middle of a sequence.
    bad = x.copy()
    bad[a + 1] = -np.inf
    got = hk.forward_backward(bad, offsets, startprob, transmat, weights)
    assert got[3][1] == -np.inf and np.isfinite(got[3][[0, 2]]).all()
    assert not any(np.isnan(r).any() for r in got)
    assert hk.viterbi(bad, offsets, _log(startprob), _log(transmat))[1][1] == -np.inf


# -- weights ---------------------------------------------------------------------------------


def test_weights_scale_posteriors_and_counts():
    rng = np.random.default_rng(17)
    x, offsets, startprob, transmat, _ = _moderate_problem(rng, n_seq=3)
    ones = hk.forward_backward(x, offsets, startprob, transmat, np.empty(0))
    assert_array_equal(ones[0], hk.forward_backward(x, offsets, startprob, transmat, np.ones(3))[0])
    w = np.array([1.0, 3.5, 1.0])
    got = hk.forward_backward(x, offsets, startprob, transmat, w)
    a, b = offsets[1], offsets[2]
    only = hk.forward_backward(x[a:b], np.array([0, b - a]), startprob, transmat, np.empty(0))
    scale = np.ones(offsets[-1])
    scale[a:b] = 3.5
    assert_allclose(got[0], ones[0] * scale[:, None], rtol=1e-14)
    assert_allclose(got[1], ones[1] + 2.5 * only[1], rtol=1e-12)
    assert_allclose(got[2], ones[2] + 2.5 * only[2], rtol=1e-12)
    assert_array_equal(got[3], ones[3])  # log-likelihoods are unweighted


def test_weight_two_equals_the_sequence_twice():
    rng = np.random.default_rng(18)
    x, offsets, startprob, transmat, _ = _moderate_problem(rng, n_seq=3)
    a, b = offsets[1], offsets[2]
    twice = np.concatenate([x, x[a:b]])
    offsets2 = np.append(offsets, offsets[-1] + b - a)
    doubled = hk.forward_backward(twice, offsets2, startprob, transmat, np.empty(0))
    weighted = hk.forward_backward(x, offsets, startprob, transmat, np.array([1.0, 2.0, 1.0]))
    assert_allclose(weighted[1], doubled[1], rtol=1e-12)
    assert_allclose(weighted[2], doubled[2], rtol=1e-12)
    assert_allclose(weighted[0][a:b], doubled[0][a:b] + doubled[0][offsets[-1] :], rtol=1e-12)


# -- inputs ----------------------------------------------------------------------------------


def test_layouts_and_dtypes_are_read_as_float64_c_order():
    rng = np.random.default_rng(19)
    x, offsets, startprob, transmat, weights = _moderate_problem(rng, n_seq=4)
    x = x.astype(np.float32).astype(np.float64)  # exactly representable in float32
    expected = hk.forward_backward(x, offsets, startprob, transmat, weights)
    expected_vit = hk.viterbi(x, offsets, _log(startprob), _log(transmat))
    wide = np.zeros((x.shape[0], 2 * x.shape[1]))
    wide[:, ::2] = x
    for variant in (np.asfortranarray(x), wide[:, ::2], x.astype(np.float32)):
        got = hk.forward_backward(variant, offsets, startprob, transmat.T.copy().T, weights)
        for g, e in zip(got, expected, strict=True):
            assert_array_equal(g, e)
        vit = hk.viterbi(variant, offsets.astype(np.int32), _log(startprob), _log(transmat))
        assert_array_equal(vit[0], expected_vit[0])
        assert_array_equal(vit[1], expected_vit[1])


@pytest.mark.parametrize(
    "offsets", [[0, 3, 3, 10], [1, 5, 10], [0, 5, 9], [0, 5, 11], [], [[0, 10]]]
)
def test_bad_offsets_are_refused(offsets):
    x = np.zeros((10, 2))
    with pytest.raises(ValueError, match="offsets"):
        hk.forward_backward(x, np.array(offsets), np.ones(2) / 2, np.eye(2), np.empty(0))
    with pytest.raises(ValueError, match="offsets"):
        hk.viterbi(x, np.array(offsets), np.zeros(2), np.zeros((2, 2)))


def test_bad_parameter_shapes_are_refused():
    x = np.zeros((10, 2))
    offsets = np.array([0, 4, 10])
    with pytest.raises(ValueError, match="seq_weights"):
        hk.forward_backward(x, offsets, np.ones(2) / 2, np.eye(2), np.ones(3))
    with pytest.raises(ValueError, match="expected"):
        hk.forward_backward(x, offsets, np.ones(3) / 3, np.eye(2), np.empty(0))
    with pytest.raises(ValueError, match="expected"):
        hk.viterbi(x, offsets, np.zeros(2), np.zeros((3, 3)))


def test_no_sequences():
    post, start_counts, trans_counts, logliks = hk.forward_backward(
        np.zeros((0, 3)), np.array([0]), np.ones(3) / 3, np.eye(3), np.empty(0)
    )
    assert post.shape == (0, 3) and logliks.shape == (0,)
    assert_array_equal(start_counts, 0.0)
    assert_array_equal(trans_counts, 0.0)
    states, logprobs = hk.viterbi(np.zeros((0, 3)), np.array([0]), np.zeros(3), np.zeros((3, 3)))
    assert states.shape == (0,) and logprobs.shape == (0,)
