"""The touch-screen kiosk: rating session, screens and the app that wires them."""
