"""The web application (layer 7): Django apps that call the engine; no scoring logic here."""
