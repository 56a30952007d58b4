"""Start the Stagecode hbo assistant's web app on http://127.0.0.1:7860 (`python app.py`)."""

if __name__ == "__main__":
    from assistant.settings import Settings
    from assistant.ui.app import serve

    serve(Settings.from_env())
