"""Train, evaluate and preprocess for the MNIST digit model.

Plain Python, NumPy, Pillow and Keras: nothing here imports Django, so the
package can run as a script on a machine that only has the data.
"""
