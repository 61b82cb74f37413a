from retool_data.cli import main

main()
