"""Gaussian-process surrogates for performance, cost, success and the Pareto front."""
