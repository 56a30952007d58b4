"""The learned models as the answer path uses them: the question bank, the features and the
linear models applied with NumPy (training lives in `assistant.training`)."""
