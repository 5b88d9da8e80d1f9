"""socialcredit: a public credit information platform for the Yangtze River Delta pilot."""

__version__ = "0.1.0"
