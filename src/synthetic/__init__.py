"""Building blocks of the synthetic data generator; the entry point is `data_tools.make_synthetic`."""
