from airpicture.cli import main

main()
