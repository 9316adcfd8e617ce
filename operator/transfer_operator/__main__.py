from transfer_operator.cli import main

main()
