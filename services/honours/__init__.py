"""Honours: categories, nominations through public notice to award, the register."""
