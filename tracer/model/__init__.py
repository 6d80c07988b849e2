"""The model: a spec (network, data, training) with its activations, losses and update rules, and the plan."""
