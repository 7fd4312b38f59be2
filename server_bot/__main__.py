from server_bot.main import main

main()
