"""The rating box: protocol, host driver, simulator, firmware and technician tools."""
