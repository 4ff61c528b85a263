"""`python -m segwarehouse` runs the segw command line."""
from .cli import main

main()
