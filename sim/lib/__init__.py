"""cocotb-side helpers: imported inside the simulator process, never by pytest itself."""
