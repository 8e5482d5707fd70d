from yanxiu.cli import main

main()
