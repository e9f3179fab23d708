print("queuectl")
