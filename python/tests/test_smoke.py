import ndpack


def test_version_and_threads():
    assert ndpack.__version__ == "0.1.0"
    before = ndpack.get_nthreads()
    assert ndpack.set_nthreads(1) == before
    assert ndpack.get_nthreads() == 1
    ndpack.set_nthreads(before)
