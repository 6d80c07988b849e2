"""The engine: forward, backward and update with numpy, recording every value into a Trace."""
