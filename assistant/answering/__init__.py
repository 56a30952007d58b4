"""From hits to an answer: decide (answer, partial, abstain), compose the structured Answer, render it."""
