"""Shared test fixtures."""
import pytest
import torch


@pytest.fixture
def one_thread():
    """The test machine is small and shared: one torch thread avoids OpenMP spin-waits."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
