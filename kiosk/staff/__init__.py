"""The kiosk's staff side: officer sign-in, the supervisor's and technician's screens."""
