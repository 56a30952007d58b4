"""The Gradio app: a thin shell over the Assistant API."""
