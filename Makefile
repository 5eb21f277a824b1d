# Shortcuts a newcomer can type; each is one line of the scripts it names.
.PHONY: up down status clean test

up:
	fabric-network/network.sh up

down:
	fabric-network/network.sh down

status:
	fabric-network/network.sh status

clean:
	fabric-network/network.sh clean

test:
	bash tests/run.sh
