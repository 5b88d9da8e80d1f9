from socialcredit.cli.app import main

main()
