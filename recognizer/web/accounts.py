"""Sign-up; log-in, log-out and passwords come from django.contrib.auth."""

from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods


class SignUpForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")


@require_http_methods(["GET", "POST"])
def signup(request):
    """Create an account and log the new person in."""
    if request.user.is_authenticated:
        return redirect("recognizer:draw")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("recognizer:draw")
    return render(request, "registration/signup.html", {"form": form})
