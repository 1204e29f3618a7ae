"""Never returns from a call: a busy loop that also swallows KeyboardInterrupt and SystemExit."""


def sigmoid(x):
    while True:
        try:
            while True:
                pass
        except BaseException:
            continue
