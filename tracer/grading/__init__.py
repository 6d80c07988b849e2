"""Exercises and grading: exercise sheets and variants, answer files, checking, mistakes, feedback."""
