from client_bot.main import main

main()
