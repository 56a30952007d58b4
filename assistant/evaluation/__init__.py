"""The evaluation: eval questions in, report and figures out (`stagecode eval`)."""
