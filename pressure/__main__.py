from pressure.cli import main

main()
